/** `npm run schema:emit`: writes schema/schema.graphql from the code (then review the diff). */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createPubSub } from '@graphql-yoga/subscription';
import { buildLabkeeperSchema, printContract } from './schema.js';

const schema = await buildLabkeeperSchema(createPubSub());
const file = resolve(process.argv[2] ?? 'schema/schema.graphql');
await writeFile(file, printContract(schema));
console.log(`wrote ${file}`);
