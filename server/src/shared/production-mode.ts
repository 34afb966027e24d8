/**
 * The entry points (`npm start`, `npm run worker`, the image) run compiled code as a product: unless
 * NODE_ENV says otherwise, it is `production`. Imported first by each entry, before any library
 * reads it at load: graphql-js checks every `isObjectType`/`isListType` that fails (several per
 * field of every response) for a second copy of itself outside production, which cost the
 * dashboard query a tenth of its CPU. Tests (jest sets NODE_ENV=test) and explicit settings keep
 * theirs.
 */
process.env.NODE_ENV ??= 'production';
