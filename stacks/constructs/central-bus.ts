import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { Aws } from 'aws-cdk-lib';
import {
  AGENT_FAILURE_DETAIL_TYPE,
  CENTRAL_BUS_NAME,
  EVENT_DETAIL_TYPE,
  EVENT_SOURCE,
  MEMBER_AGENT_ROLE_NAME,
} from '../../core/names';

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/** Properties of {@link CentralBus}. */
export interface CentralBusProps {
  /** The organization whose principals may put events (`o-…`). */
  readonly organizationId: string;
  /**
   * Name of the bus.
   * @default CENTRAL_BUS_NAME from core/names.ts
   */
  readonly eventBusName?: string;
}

/**
 * The hub's custom event bus. Its resource policy admits `events:PutEvents` only from the member agent's
 * own execution role (fixed name MEMBER_AGENT_ROLE_NAME) in an account of the organization, and only for
 * credreport's source and its two detail-types, one statement each: report parts and agent failures
 * (docs/ARCHITECTURE.md §11). Ingest then takes the account from
 * `event.account`, which EventBridge sets to the caller's account.
 */
export class CentralBus extends Construct {
  /** The bus. */
  readonly bus: events.EventBus;
  /** The bus policy statement that admits the agents' report parts. */
  readonly policy: events.CfnEventBusPolicy;
  /** The bus policy statement that admits the agents' failure reports (same principal, own detail-type). */
  readonly failurePolicy: events.CfnEventBusPolicy;

  constructor(scope: Construct, id: string, props: CentralBusProps) {
    super(scope, id);
    if (!ORGANIZATION_ID.test(props.organizationId)) {
      throw new Error(
        `CentralBus ${id}: organizationId must look like o-a1b2c3d4e5 (got ${props.organizationId})`,
      );
    }
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.eventBusName ?? CENTRAL_BUS_NAME,
      description: 'credreport: credential report parts put by the member agents',
    });
    // The L1 directly: the L2 EventBusPolicy sets the deprecated `principal` property (a synth warning).
    // One statement per detail-type, each admitting only the agent role of an org account.
    const statement = (sid: string, detailType: string) =>
      new events.CfnEventBusPolicy(this, sid === 'MemberAgentsPutReportParts' ? 'Policy' : 'FailurePolicy', {
        eventBusName: this.bus.eventBusName,
        statementId: sid,
        statement: new iam.PolicyStatement({
          sid,
          effect: iam.Effect.ALLOW,
          principals: [new iam.AnyPrincipal()],
          actions: ['events:PutEvents'],
          resources: [this.bus.eventBusArn],
          conditions: {
            StringEquals: { 'aws:PrincipalOrgID': props.organizationId },
            ArnLike: { 'aws:PrincipalArn': `arn:${Aws.PARTITION}:iam::*:role/${MEMBER_AGENT_ROLE_NAME}` },
            // Multi-valued keys (one value per entry of the call): every entry must be credreport's, and
            // the Null guard keeps ForAllValues from passing vacuously.
            'ForAllValues:StringEquals': {
              'events:source': [EVENT_SOURCE],
              'events:detail-type': [detailType],
            },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        }).toStatementJson(),
      });
    this.policy = statement('MemberAgentsPutReportParts', EVENT_DETAIL_TYPE);
    this.failurePolicy = statement('MemberAgentsPutAgentFailures', AGENT_FAILURE_DETAIL_TYPE);
    // EventBridge updates a bus policy statement by statement; one after the other avoids a conflict.
    this.failurePolicy.node.addDependency(this.policy);
  }
}
