import { registerCloudFunctions } from '../../shared/platform/gcp.js';

registerCloudFunctions('status');
