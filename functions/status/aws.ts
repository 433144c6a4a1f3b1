import { lambdaHandler } from '../../shared/platform/aws.js';

export const handler = lambdaHandler('status');
