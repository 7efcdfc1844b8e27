-- The relational design the spec's "DB source" table implies:
-- app_usage_reports joined to apps and catalog_applications, the usage table
-- partitioned by month. Primary keys are added after the COPY (setup.sh), as
-- a bulk load should.

CREATE TABLE clients (
    client_id uuid PRIMARY KEY,
    name      text NOT NULL,
    timezone  text NOT NULL
);

CREATE TABLE catalog_applications (
    id             uuid PRIMARY KEY,
    canonical_name text NOT NULL,
    logo           text,
    type           text NOT NULL,
    vendor_id      uuid,
    vendor_name    text,
    vendor_url     text,
    category_ids   uuid[] NOT NULL DEFAULT '{}',
    category_names text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE apps (
    client_id      uuid NOT NULL,
    id             uuid NOT NULL,
    catalog_app_id uuid NOT NULL REFERENCES catalog_applications (id),
    is_favorite    boolean NOT NULL,
    is_approved    boolean NOT NULL,
    license_count  integer,
    risk_level     text,
    PRIMARY KEY (client_id, id)
);

CREATE TABLE user_departments (
    client_id     uuid NOT NULL,
    user_id       uuid NOT NULL,
    department_id uuid NOT NULL,
    PRIMARY KEY (client_id, department_id, user_id)
);

CREATE TABLE app_usage_reports (
    client_id           uuid NOT NULL,
    activity_date       date NOT NULL,
    application_id      uuid NOT NULL,
    user_id             uuid NOT NULL,
    total_active_ms     bigint NOT NULL,
    total_session_count integer NOT NULL
) PARTITION BY RANGE (activity_date);

CREATE TABLE app_usage_reports_default PARTITION OF app_usage_reports DEFAULT;

-- apps.csv as the dataset writes it, split into the two tables above.
CREATE UNLOGGED TABLE apps_csv (
    client_id uuid, app_id uuid, catalog_app_id uuid, canonical_name text, logo text, type text,
    vendor_id uuid, vendor_name text, vendor_url text, category_ids text, category_names text,
    is_favorite boolean, is_approved boolean, license_count integer, risk_level text
);
