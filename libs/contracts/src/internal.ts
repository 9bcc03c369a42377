// `@pinrank/contracts/internal`: format plumbing other libraries build their own readers
// from (the framed JSON header shared by vector files and action logs, the vector file's
// magic and header parser), off the front page (src/index.ts) of formats and loaders.
export { readFramedHeader, type FramedByteSource } from './framed-header';
export { VECTOR_FILE_MAGIC, parseVectorFileHeader } from './vector-file-format';
