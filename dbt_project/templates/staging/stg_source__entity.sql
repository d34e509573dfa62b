-- Staging of raw.__raw_table__ (source __source__): renames, casts and light cleaning only,
-- one row per raw row. Joins and reshaping belong in intermediate/<area>/int_<entity>_<verb>.sql.
with source as (
    select * from {{ source('__source__', '__raw_table__') }}
),

renamed as (
    select
        -- ids and names carry their entity: geo_code, indicator_id, document_title (never a bare id or name)
        source_id,
        load_id,
        -- one raw column per line: renamed, cast with ::, trimmed; for example
        --     nullif(trim(location), '') as event_location,
        --     upper(currency) as currency_code,
        loaded_at
    from source
)

select * from renamed
