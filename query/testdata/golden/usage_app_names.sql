SELECT app_id, canonical_name FROM apps FINAL WHERE client_id = toUUID(@client)
-- @client = "c0000000-0000-4000-8000-000000000001"
