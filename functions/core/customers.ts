import type { TrustLevel } from './access-tokens.js';
import type { Customer } from './ports.js';
import type { Channel, Purpose } from './purposes.js';

/** `strong` once both channels are verified; every identifier a customer holds was verified by a code. */
export function trustLevelOf(customer: Pick<Customer, 'email' | 'phone'>): TrustLevel {
  return customer.email !== null && customer.phone !== null ? 'strong' : 'verified';
}

/** The customer's identifier of one channel, or null. */
export function identifierOf(customer: Pick<Customer, 'email' | 'phone'>, channel: Channel): string | null {
  return channel === 'email' ? customer.email : customer.phone;
}

/**
 * The purposes that give a target to the customer of the session they come with (API.md, Purposes):
 * the channel the target must have, and whether it replaces the customer's identifier or is added.
 */
export const LINK_PURPOSES: Partial<Record<Purpose, { channel: Channel; replace: boolean }>> = {
  'verify-email': { channel: 'email', replace: false },
  'verify-phone': { channel: 'sms', replace: false },
  'update-email': { channel: 'email', replace: true },
  'update-phone': { channel: 'sms', replace: true },
};

/** Why a target does not fit a purpose that needs the other channel. */
export function channelMismatch(purpose: Purpose): string {
  return `The purpose ${purpose} needs ${LINK_PURPOSES[purpose]?.channel === 'sms' ? 'a phone number' : 'an e-mail address'}.`;
}
