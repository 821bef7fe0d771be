// Data sent inline over the API: `{ columns: { name: values[] } }` or `{ rows: [{...}] }`.
import { datasetFromColumns, datasetFromRows, type Dataset } from '../dataset.js';
import type { InlineData } from '../schema.js';

export function readInline(data: InlineData): Dataset {
  return 'columns' in data ? datasetFromColumns(data.columns) : datasetFromRows(data.rows);
}
