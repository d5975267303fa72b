/**
 * Express 4, installed under the alias "express4" (package.json) so one test run covers both
 * majors. Its own types are not installed; Express 5's stand in for what the tests use, which
 * both majors share.
 */
declare module "express4" {
  import express from "express";
  export default express;
}
