/** CloudWatch namespace of the service's own metrics; the stack's alarms read from it too. */
export const METRICS_NAMESPACE = 'OtpService';
