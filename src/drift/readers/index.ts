// Readers: every source of drift data becomes the same columnar Dataset.
export { readCsv, readCsvFile } from './csv.js';
export { readJsonLines, readJsonLinesFile } from './jsonl.js';
export { readParquet, readParquetFile, parquetBuffer } from './parquet.js';
export { readDataFile, formatOf, FILE_FORMATS, type FileFormat } from './files.js';
export { readInline } from './inline.js';
export { readInferenceLog, insertInferences, DEFAULT_LOG_LIMIT, PREDICTION_COLUMN, type InferenceRecord } from './inference-log.js';
