// Every `echogen` command, in the order --help lists them.
import { Verb } from './verb';
import { selfcheckVerb } from './selfcheck';

export const verbs: Verb[] = [selfcheckVerb];
