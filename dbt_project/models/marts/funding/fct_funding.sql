with operations as (
    select * from {{ ref('int_funding_operations_normalised') }}
),

registry_entries as (
    select * from {{ ref('stg_audit__registry_entries') }}
)

select
    operations.*,
    registry_entries.is_sample
from operations
left join registry_entries on operations.source_id = registry_entries.source_id
