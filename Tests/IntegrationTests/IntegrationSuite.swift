import Testing

/// Every integration test starts its own otp-fcgi and nginx; they run one at a time so the
/// concurrency tests get the machine to themselves.
@Suite(.serialized) struct Integration {}
