/** What a code may be used for; a code sent for one purpose never verifies another. */
export const PURPOSES = [
  'login',
  'register',
  'reset-password',
  'verify-phone',
  'verify-email',
  'update-phone',
  'update-email',
  'step-up',
] as const;

export type Purpose = (typeof PURPOSES)[number];

export const DEFAULT_PURPOSE: Purpose = 'login';

export const CHANNELS = ['sms', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

/** The purposes whose verify opens a full session with a refresh token (API.md, Purposes). */
export const REFRESHABLE_PURPOSES: readonly Purpose[] = ['login', 'register'];

/** The purposes whose verify opens a short step-up session (OTP_STEP_UP_TTL_SECONDS), no refresh token. */
export const STEP_UP_PURPOSES: readonly Purpose[] = ['step-up', 'reset-password'];
