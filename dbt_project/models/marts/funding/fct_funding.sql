with operations as (
    select * from {{ ref('int_funding_operations_normalised') }}
)

select * from operations
