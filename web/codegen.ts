// GraphQL Code Generator: types for every operation in src/ from schema/schema.graphql,
// so that a schema change that breaks the console breaks `npm run typecheck`.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../schema/schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/gql/**'],
  ignoreNoDocuments: false,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        onlyOperationTypes: true,
        enumsAsTypes: true,
        strictScalars: true,
        scalars: {
          DateTime: 'string',
          GeoJSON: 'unknown',
          JSON: 'unknown',
          Upload: 'File',
        },
      },
    },
  },
};

export default config;
