with catalogue as (
    select * from {{ ref('indicator_catalogue') }}
)

select
    indicator_id,
    indicator_title,
    indicator_domain,
    indicator_group,
    comparison_family,
    geo_level,
    unit,
    dataset_code,
    dimension_filter::text as dimension_filter,
    population_dimension,
    migrant_group,
    reference_group,
    higher_is_better,
    gap_method,
    indicator_description,
    source_citation
from catalogue
