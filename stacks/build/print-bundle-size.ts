/** `npm run bundle:agent`: builds the member agent bundle and prints its size (it must stay small: it is inlined in the StackSet template). */
import { bundleMemberAgent } from './agent-bundle';

const { bytes } = bundleMemberAgent();
process.stdout.write(
  `member agent bundle: ${bytes.toLocaleString('en-US')} bytes (${(bytes / 1024).toFixed(1)} KiB)\n`,
);
