#!/usr/bin/env node
/**
 * The CDK app (cdk.json runs it with tsx). Settings come from CDK context; see docs/deploy.md.
 * The stack is environment-agnostic: it deploys to the account and region of the credentials in use.
 */
import { App } from "aws-cdk-lib";
import { defineApp } from "../lib/app";

defineApp(new App());
