-- The users dimension (users.csv) and each client's privacy mode
-- (clients.csv's privacy column). name_key and email_key are the folded
-- texts (package fold) that q matches, "" for null.
CREATE TABLE IF NOT EXISTS users (
    client_id UUID,
    user_id UUID,
    display_name Nullable(String),
    email Nullable(String),
    name_key String,
    email_key String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (client_id, user_id);

CREATE TABLE IF NOT EXISTS client_privacy (
    client_id UUID,
    privacy String,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY client_id;
