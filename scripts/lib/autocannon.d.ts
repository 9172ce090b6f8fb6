// autocannon ships no types; the bench uses its default export with the options and result it documents
declare module "autocannon";
