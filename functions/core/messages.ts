import type { Purpose } from './purposes.js';

/** Wording of the code message per purpose, so a user can tell a sign-in code from a reset code. */
const ACTION: Record<Purpose, string> = {
  login: 'sign-in',
  register: 'registration',
  'reset-password': 'password reset',
  'verify-phone': 'phone verification',
  'verify-email': 'e-mail verification',
  'update-phone': 'phone number change',
  'update-email': 'e-mail address change',
  'step-up': 'confirmation',
};

export interface CodeMessage {
  appName: string;
  code: string;
  purpose: Purpose;
  expiresInSeconds: number;
}

function minutes(seconds: number): string {
  const whole = Math.max(1, Math.round(seconds / 60));
  return whole === 1 ? '1 minute' : `${whole} minutes`;
}

export function smsText({ appName, code, purpose, expiresInSeconds }: CodeMessage): string {
  return `${code} is your ${appName} ${ACTION[purpose]} code. It expires in ${minutes(expiresInSeconds)}. Never share it.`;
}

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function emailContent({ appName, code, purpose, expiresInSeconds }: CodeMessage): EmailContent {
  const action = ACTION[purpose];
  const expiry = minutes(expiresInSeconds);
  const app = escapeHtml(appName);
  return {
    subject: `Your ${appName} ${action} code`,
    text: `Your ${appName} ${action} code is ${code}.\n\nIt expires in ${expiry}. If you did not ask for it, ignore this e-mail; never share the code with anyone.\n`,
    html: `<!doctype html><html><body style="font-family:sans-serif"><p>Your ${app} ${action} code is</p><p style="font-size:28px;font-weight:bold;letter-spacing:4px">${code}</p><p>It expires in ${expiry}. If you did not ask for it, ignore this e-mail; never share the code with anyone.</p></body></html>`,
  };
}
