// asl-validator ships no types: the one call the tests make.
declare module 'asl-validator' {
  export interface AslValidation {
    isValid: boolean;
    errors: { 'Error code': string; Message: string }[];
  }
  export default function validator(definition: unknown): AslValidation;
}
