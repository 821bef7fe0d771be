// Copies non-TypeScript runtime assets (SQL migrations) next to the compiled JavaScript.
import { cpSync, mkdirSync } from 'node:fs';

mkdirSync('dist/db/migrations', { recursive: true });
cpSync('src/db/migrations', 'dist/db/migrations', { recursive: true });
