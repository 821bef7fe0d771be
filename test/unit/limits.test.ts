import { createMemoryLimiterStore } from '../../src/limits/index.js';
import { limiterContract } from './limits-contract.js';

limiterContract('in-process', () => createMemoryLimiterStore());
