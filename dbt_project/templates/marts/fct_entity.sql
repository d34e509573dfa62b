-- One row per __entity__ (the grain, as the YAML description says).
-- Import CTEs first, one per ref; then the logic in named CTEs; then `select * from final`.
with __entities__ as (
    select * from {{ ref('stg___source______entities__') }}
),

final as (
    select
        -- the key: a hash of the grain's columns, named after the entity
        md5(concat_ws('|', __entities__.source_id, __entities__.load_id)) as __entity___id,
        __entities__.source_id,
        __entities__.load_id
    from __entities__
)

select * from final
