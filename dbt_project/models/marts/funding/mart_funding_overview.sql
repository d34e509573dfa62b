-- One row per level (country, city) × place × programme × year: committed EUR, operations, the share
-- concerning integration, and the EUR per resident of foreign citizenship where Eurostat publishes that
-- population (population_by_citizenship, 1 January of the same year; countries only), else NULL with a reason.
-- `includes_sample` marks a row with operations from a file written for the project (fct_funding.is_sample).
with operations as (
    select * from {{ ref('fct_funding') }}
),

population as (
    select
        geo_code,
        time_period,
        population_group,
        observation_value
    from {{ ref('fct_indicator_observation') }}
    where indicator_id = 'population_by_citizenship' and sex = 'T' and age_group = 'TOTAL'
        and population_group in ('FOR', 'EU27_2020_FOR', 'NEU27_2020_FOR')
),

-- residents of foreign citizenship: FOR where published, else EU27_2020_FOR + NEU27_2020_FOR
foreign_residents as (
    select
        geo_code,
        time_period::int as population_year,
        case
            when count(*) filter (where population_group = 'FOR') = 1
                then max(observation_value) filter (where population_group = 'FOR')
            when count(observation_value) filter (where population_group <> 'FOR') = 2
                then sum(observation_value) filter (where population_group <> 'FOR')
        end::numeric as foreign_citizens
    from population
    where time_period ~ '^[0-9]{4}$'
    group by geo_code, time_period
),

-- each operation counts at two levels: once for its country, and once for its city when it has a GeoNames id
geo_levels as (
    select 'country' as geo_level
    union all
    select 'city' as geo_level
),

placed as (
    select
        geo_levels.geo_level,
        operations.geo_code,
        operations.country_code,
        case when geo_levels.geo_level = 'city' then operations.city_name end as city_name,
        case when geo_levels.geo_level = 'city' then operations.geonames_id end as geonames_id,
        operations.programme_id,
        operations.fund_code,
        operations.programming_period,
        operations.operation_year,
        operations.amount_eur,
        operations.concerns_integration,
        operations.is_sample
    from operations
    cross join geo_levels
    where geo_levels.geo_level = 'country' or operations.geonames_id is not null
),

aggregated as (
    select
        geo_level,
        geo_code,
        country_code,
        min(city_name) as city_name,
        geonames_id,
        programme_id,
        min(fund_code) as fund_code,
        min(programming_period) as programming_period,
        operation_year as funding_year,
        count(*) as operations_count,
        count(amount_eur) as operations_with_eur_amount,
        sum(amount_eur) as committed_amount_eur,
        count(*) filter (where concerns_integration) as integration_operations_count,
        sum(amount_eur) filter (where concerns_integration) as integration_amount_eur,
        count(*) filter (where is_sample) as sample_operations_count
    from placed
    group by geo_level, geo_code, country_code, geonames_id, programme_id, operation_year
)

select
    md5(concat_ws(
        '|', aggregated.geo_level, aggregated.country_code, aggregated.geonames_id,
        aggregated.programme_id, aggregated.funding_year
    )) as funding_overview_id,
    aggregated.*,
    aggregated.sample_operations_count > 0 as includes_sample,
    round(aggregated.integration_operations_count::numeric / aggregated.operations_count, 4)
        as integration_operation_share,
    round(coalesce(aggregated.integration_amount_eur, 0) / nullif(aggregated.committed_amount_eur, 0), 4)
        as integration_amount_share,
    foreign_residents.foreign_citizens,
    round(aggregated.committed_amount_eur / nullif(foreign_residents.foreign_citizens, 0), 4)
        as amount_eur_per_foreign_resident,
    case
        when aggregated.geo_level = 'city' then 'no population by citizenship for cities in the warehouse'
        when aggregated.geo_code is null then 'country ' || aggregated.country_code || ' is not in dim_geo'
        when aggregated.funding_year is null then 'operation year unknown'
        when aggregated.committed_amount_eur is null then 'no EUR amount'
        when foreign_residents.foreign_citizens is null
            then 'no population_by_citizenship for ' || aggregated.geo_code || ' on 1 January '
                || aggregated.funding_year
    end as per_resident_missing_reason
from aggregated
left join foreign_residents
    on aggregated.geo_level = 'country'
    and aggregated.geo_code = foreign_residents.geo_code
    and aggregated.funding_year = foreign_residents.population_year
