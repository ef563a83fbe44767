import { InMemoryIndex } from '../src/in-memory-index.js';
import { describeIndexBehaviour } from './index-behaviour.js';

describeIndexBehaviour('in-memory', async () => new InMemoryIndex());
describeIndexBehaviour('in-memory, model scope', async () => new InMemoryIndex(), { model: 'llama' });
