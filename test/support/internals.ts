/** Text that only a database, the runtime, a library or the file system would write: never in an answer. */
export const INTERNALS =
  /invalid input syntax|invalid byte sequence|QueryFailed|violates|relation "|column "|Cannot read propert|is not a function|TypeError|SyntaxError|ReferenceError|ENOENT|EACCES|EISDIR|node_modules|\bat .+:\d+:\d+|<html|<!DOCTYPE|body-parser|typeorm|postgres/i;
