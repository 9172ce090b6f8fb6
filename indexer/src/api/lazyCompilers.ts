import ValidatorSelector from "@fastify/ajv-compiler";
import SerializerSelector from "@fastify/fast-json-stringify-compiler";

/**
 * Fastify compiles every route's request validators (Ajv) and response serializers (fast-json-stringify)
 * while the app boots: for this API about half a second of CPU, most of a start (`bench:footprint` with
 * `FOOTPRINT_NODE_ARGS="--cpu-prof ..."` shows it under `compileSchemasForValidation` and
 * `compileSchemasForSerialization`). These factories hand Fastify the same compilers, wrapped so that a
 * route's validator and serializer are compiled on its first request instead: /health answers sooner after
 * a start, and a route nobody calls costs nothing. The compiled functions, and so the behaviour, are the
 * defaults'; the first request to each route pays its compile once.
 */
type Compile = (route: object) => ((...args: unknown[]) => unknown) & { errors?: unknown };

function lazy(compile: Compile, route: object) {
  let compiled: ReturnType<Compile> | undefined;
  const run = (...args: unknown[]) => {
    compiled ??= compile(route);
    const result = compiled(...args);
    // Fastify reads a failed validation's errors from the function it was given
    run.errors = compiled.errors;
    return result;
  };
  run.errors = undefined as unknown;
  return run;
}

const defaultValidator = ValidatorSelector() as unknown as (externalSchemas: unknown, options: unknown) => Compile;
const defaultSerializer = SerializerSelector() as unknown as (externalSchemas: unknown, options: unknown) => Compile;

/** Fastify's `schemaController.compilersFactory` with compile-on-first-use validators and serializers. */
export const lazyCompilersFactory = {
  buildValidator: (externalSchemas: unknown, options: unknown) => {
    const compile = defaultValidator(externalSchemas, options);
    return (route: object) => lazy(compile, route);
  },
  buildSerializer: (externalSchemas: unknown, options: unknown) => {
    const compile = defaultSerializer(externalSchemas, options);
    return (route: object) => lazy(compile, route);
  },
};
