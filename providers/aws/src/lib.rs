//! AWS provider for gureum: S3, SQS, EC2 (work in progress: no openers are registered yet).
#![warn(missing_docs)]
