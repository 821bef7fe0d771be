import { createMemoryLimiterStore } from '../../src/limits/index.js';
import { limiterContract, limiterRulesContract } from './limits-contract.js';

limiterContract('in-process', () => createMemoryLimiterStore());
limiterRulesContract('in-process', () => createMemoryLimiterStore());
