import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * The SNS topic the digest publishes its chat summary to (`chatTopic: true`, docs/ARCHITECTURE.md §6 "Chat and
 * routing"): a standard topic for an Amazon Q Developer in chat applications (formerly AWS Chatbot) channel
 * configuration to subscribe, encrypted with its own rotating customer managed key and TLS-only (`enforceSSL`).
 * Its key policy is CDK's default (the account root), so only identity policies grant the key: the digest role's
 * (ReportDigest). The chat service needs no grant: SNS decrypts before it delivers to the subscribed endpoint.
 */
export class ChatTopic extends Construct {
  /** The topic. */
  readonly topic: sns.Topic;
  /** Its key. */
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'credreport: encrypts the chat summary topic',
      enableKeyRotation: true,
      // It only encrypts chat summaries in flight: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'credreport chat summary',
      masterKey: this.key,
      enforceSSL: true,
    });
  }
}
