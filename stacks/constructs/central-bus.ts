import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CENTRAL_BUS_NAME } from '../../core/names';

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
 * The hub's custom event bus. Its resource policy admits `events:PutEvents` from any principal of the
 * organization — in practice the forwarding rule role of each member account — and from nobody else.
 */
export class CentralBus extends Construct {
  /** The bus. */
  readonly bus: events.EventBus;
  /** The bus's resource policy. */
  readonly policy: events.CfnEventBusPolicy;

  constructor(scope: Construct, id: string, props: CentralBusProps) {
    super(scope, id);
    if (!ORGANIZATION_ID.test(props.organizationId)) {
      throw new Error(
        `CentralBus ${id}: organizationId must look like o-a1b2c3d4e5 (got ${props.organizationId})`,
      );
    }
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.eventBusName ?? CENTRAL_BUS_NAME,
      description: 'credreport: credential report parts forwarded from member accounts',
    });
    // The L1 directly: the L2 EventBusPolicy sets the deprecated `principal` property (a synth warning).
    this.policy = new events.CfnEventBusPolicy(this, 'Policy', {
      eventBusName: this.bus.eventBusName,
      statementId: 'OrganizationPutEvents',
      statement: new iam.PolicyStatement({
        sid: 'OrganizationPutEvents',
        effect: iam.Effect.ALLOW,
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
      }).toStatementJson(),
    });
  }
}
