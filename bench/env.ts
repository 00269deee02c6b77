/**
 * Imported first by bench/run.ts: the handler modules read their configuration when they load
 * (as on Lambda), so the benchmark's environment must be in place before any of them is imported.
 * The benchmark wires its own dependencies; these values only let the modules load.
 */
import { initialKeySet, serializeKeySet } from '../functions/core/signing-keys.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.OTP_DELIVERY = 'local';
process.env.OTP_PEPPER ??= 'bench-only-pepper-bench-only-pepper-0123456789';
// Signing keys of this run only, as npm start makes them (functions/local/main.ts).
process.env.OTP_SIGNING_KEYS ??= serializeKeySet(initialKeySet(Date.now()));
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
