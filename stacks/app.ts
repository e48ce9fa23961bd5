/** CDK app entry (`cdk.json`: `npx tsx stacks/app.ts`). */
import { buildApp } from './credreport-app';

buildApp().app.synth();
