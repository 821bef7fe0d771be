// Database: pool, embedded PGlite host, migrations, tenant-scoped transactions.
export { openDatabase, sslOptions, literal, APP_ROLE } from './database.js';
export { queryPrepared, statementName, sqlStatementName, MAX_PREPARED } from './prepared.js';
export type { Database, PreparedStatement, Tx, TxOptions, PoolStats, OpenDatabaseOptions, Row } from './database.js';
export { migrate, migrationStatus, loadMigrations, MIGRATION_LOCK_KEY } from './migrate.js';
export type { Migration, MigrationState, MigrationStatus } from './migrate.js';
