//! JSON body and query extractors whose rejections render as [`ApiError`].

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// `Json<T>` whose rejections (bad JSON, too large, wrong content type) are JSON errors.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query<T>` whose rejections are JSON 400 errors.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);
