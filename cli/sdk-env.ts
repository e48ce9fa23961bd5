/**
 * Imported first by cli/main.ts, before any AWS SDK module loads: turns off the SDK's
 * NodeVersionSupportWarning (eight lines on stderr before the first client of every AWS command on
 * Node 20) by the SDK's own switch, `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED`, which
 * `emitWarningIfUnsupportedVersion` in @aws-sdk/core reads when a client is constructed. The README
 * states the Node versions supported; a value already set (e.g. `false`, to see the warning) is kept.
 */

/** Sets the switch in `env` unless it is set already. */
export function quietSdkNodeWarning(env: NodeJS.ProcessEnv): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

quietSdkNodeWarning(process.env);
