import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { expect } from 'vitest';
import { initialKeySet, serializeKeySet } from '../functions/core/signing-keys.js';

expect.extend(allCustomMatcher);

// Signing keys for the handler modules that load them at import (well-known), made per test file as
// npm start makes them per run: no key is ever committed.
process.env.OTP_SIGNING_KEYS ??= serializeKeySet(initialKeySet(Date.now()));
