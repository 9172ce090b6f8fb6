import { apiSuite } from "./apiSuite.js";

apiSuite("pglite");
