import AjvCompiler from '@fastify/ajv-compiler';
import SerializerSelector from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

type Factory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type Validate = ((data: unknown) => unknown) & { errors?: unknown };
type Serialize = (data: unknown) => string;
/** The route a compiler is asked for (schema, method, url, part or status): passed through as is. */
type RouteSchema = object;

/**
 * Fastify's own compilers (Ajv for requests, fast-json-stringify for responses), each route's
 * schema compiled on its first use rather than all at start-up. Compiling every route of the API
 * at once took about 3.5 s of a restart's CPU, and a restarted server is what an interrupted job
 * waits for. Same compilers, same options, same results: only the moment of compiling moves. A
 * schema that does not compile now fails on its route's first request instead of at start-up, so
 * the API test suites exercise every route.
 */
export function lazyCompilers(): Factory {
  const validators = AjvCompiler() as unknown as (
    externalSchemas: unknown,
    options: unknown,
  ) => (route: RouteSchema) => Validate;
  const serializers = SerializerSelector() as unknown as (
    externalSchemas: unknown,
    options: unknown,
  ) => (route: RouteSchema) => Serialize;
  const buildValidator = (externalSchemas: unknown, options: unknown) => {
    const compile = validators(externalSchemas, options);
    return (route: RouteSchema): Validate => {
      let fn: Validate | undefined;
      const validate: Validate = (data) => {
        fn ??= compile(route);
        const ok = fn(data);
        // Fastify reads the errors from the function it was handed.
        validate.errors = fn.errors;
        return ok;
      };
      return validate;
    };
  };
  const buildSerializer = (externalSchemas: unknown, options: unknown) => {
    const compile = serializers(externalSchemas, options);
    return (route: RouteSchema): Serialize => {
      let fn: Serialize | undefined;
      return (data) => (fn ??= compile(route))(data);
    };
  };
  // Fastify types these factories as Ajv's own function types; the wrappers keep their behaviour.
  return { buildValidator, buildSerializer } as unknown as Factory;
}
