// Every `echogen` command, in the order --help lists them.
import { Verb } from './verb';
import { selfcheckVerb } from './selfcheck';
import { demoVerb } from './demo';
import { trainVerb } from './train';
import { generateVerb } from './generate';
import { groundVerb } from './ground';
import { evalVerb } from './eval';
import { worldVerb } from './world';
import { renderVerb } from './render';

export const verbs: Verb[] = [demoVerb, trainVerb, generateVerb, groundVerb, evalVerb, worldVerb, renderVerb, selfcheckVerb];
