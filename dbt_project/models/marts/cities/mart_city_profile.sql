-- One row per Urban Audit city or greater city of dim_geo: its latest foreign-born and foreign-citizen counts
-- (with flags, the change over five years and the year-on-year jumps that point at a break in the series), the
-- share of the total population where Eurostat's total (urb_cpop1 DE1001V) is collected for the same city and
-- year, its country's employment and unemployment gaps (citizenship), and its engagement and funding, joined on
-- the GeoNames id (`*_includes_sample`: some of those events or operations come only from files written for the
-- project). Every NULL has a reason column. A jump is a change by the factor `city_population_jump_factor`
-- (default 2: the count doubles or halves) or more between two published years.
{%- set jump_factor = var('city_population_jump_factor', 2) %}

with geo as (
    select * from {{ ref('dim_geo') }}
),

counts as (
    select * from {{ ref('int_geo_city_population_counts') }}
),

scoreboard as (
    select * from {{ ref('mart_integration_scoreboard') }}
),

engagement as (
    select * from {{ ref('mart_city_engagement') }}
),

funding as (
    select * from {{ ref('mart_funding_overview') }}
),

cities as (
    select
        geo_code,
        geo_name as city_label,
        regexp_replace(regexp_replace(geo_name, '\s*\(greater city\)\s*$', ''), '\s+', ' ', 'g') as city_name,
        geo_level,
        country_code,
        nuts2_code,
        geonames_id
    from geo
    where geo_level in ('city', 'greater_city')
),

-- the published values of the two migrant counts, each with the year and value published before it
series as (
    select
        geo_code,
        measure,
        reference_year,
        observation_value,
        observation_flags,
        lag(reference_year) over (partition by geo_code, measure order by reference_year) as previous_year,
        lag(observation_value) over (partition by geo_code, measure order by reference_year) as previous_value,
        row_number() over (partition by geo_code, measure order by reference_year desc) as recency
    from counts
    where measure in ('foreign_born', 'foreign_citizens') and observation_value is not null
),

changes as (
    select
        *,
        coalesce(
            greatest(previous_value, observation_value) > 0
            and greatest(previous_value, observation_value)
            >= {{ jump_factor }} * least(previous_value, observation_value),
            false
        ) as is_jump
    from series
),

quality as (
    select
        geo_code,
        measure,
        bool_or(is_jump) as has_jump,
        string_agg(
            previous_year || '-' || reference_year || ': ' || previous_value || ' to ' || observation_value
            || ' (x' || coalesce(round(observation_value / nullif(previous_value, 0), 2)::text, 'n/a')
            || coalesce(', flag ' || observation_flags, '') || ')',
            '; ' order by reference_year
        ) filter (where is_jump) as jump_note
    from changes
    group by geo_code, measure
),

latest as (
    select
        latest_value.geo_code,
        latest_value.measure,
        latest_value.reference_year,
        latest_value.observation_value,
        latest_value.observation_flags,
        base.reference_year as base_year,
        base.observation_value as base_value,
        totals.observation_value as total_population
    from series as latest_value
    left join series as base
        on latest_value.geo_code = base.geo_code
        and latest_value.measure = base.measure
        and base.reference_year = latest_value.reference_year - 5
    left join counts as totals
        on latest_value.geo_code = totals.geo_code
        and totals.measure = 'total_population'
        and totals.reference_year = latest_value.reference_year
    where latest_value.recency = 1
),

country_gaps as (
    select
        geo_code,
        max(gap::double precision) filter (where indicator_id = 'employment_rate') as employment_gap,
        max(period_used::text) filter (where indicator_id = 'employment_rate') as employment_period,
        max(gap::double precision) filter (where indicator_id = 'unemployment_rate') as unemployment_gap,
        max(period_used::text) filter (where indicator_id = 'unemployment_rate') as unemployment_period
    from scoreboard
    where indicator_id in ('employment_rate', 'unemployment_rate') and comparison_family = 'citizenship'
    group by geo_code
),

city_funding as (
    select
        geonames_id::bigint as geonames_id,
        sum(operations_count)::bigint as operations_count,
        sum(committed_amount_eur)::numeric as committed_amount_eur,
        sum(integration_operations_count)::bigint as integration_operations_count,
        sum(integration_amount_eur)::numeric as integration_amount_eur,
        min(funding_year)::integer as first_year,
        max(funding_year)::integer as last_year,
        bool_or(includes_sample) as includes_sample
    from funding
    where geo_level = 'city' and geonames_id is not null
    group by geonames_id
)

select
    cities.geo_code,
    cities.city_name,
    cities.city_label,
    cities.geo_level,
    cities.country_code,
    cities.nuts2_code,
    cities.geonames_id,

    born.observation_value as foreign_born_population,
    born.reference_year as foreign_born_year,
    born.observation_flags as foreign_born_flags,
    case
        when born.geo_code is null then 'no foreign-born count (urb_cpopcb DE2009V) loaded for ' || cities.geo_code
    end as foreign_born_missing_reason,
    born.observation_value - born.base_value as foreign_born_change_5y,
    born.base_year as foreign_born_change_5y_base_year,
    case
        when born.geo_code is null then 'no foreign-born count'
        when born.base_year is null then 'no foreign-born count published for ' || (born.reference_year - 5)
    end as foreign_born_change_5y_missing_reason,
    coalesce(born_quality.has_jump, false) as foreign_born_change_flag,
    born_quality.jump_note as foreign_born_quality_note,
    round(born.observation_value / nullif(born.total_population, 0), 4) as foreign_born_share,
    born.total_population as foreign_born_share_denominator,
    case
        when born.geo_code is null then 'no foreign-born count'
        when born.total_population is null
            then 'no total population (urb_cpop1 DE1001V) collected for ' || cities.geo_code || ' in '
                || born.reference_year
        when born.total_population = 0 then 'total population is 0 in ' || born.reference_year
    end as foreign_born_share_missing_reason,

    citizens.observation_value as foreign_citizen_population,
    citizens.reference_year as foreign_citizen_year,
    citizens.observation_flags as foreign_citizen_flags,
    case
        when citizens.geo_code is null
            then 'no foreign-citizen count (urb_cpopcb DE2012V, foreigners) loaded for ' || cities.geo_code
    end as foreign_citizen_missing_reason,
    citizens.observation_value - citizens.base_value as foreign_citizen_change_5y,
    citizens.base_year as foreign_citizen_change_5y_base_year,
    case
        when citizens.geo_code is null then 'no foreign-citizen count'
        when citizens.base_year is null
            then 'no foreign-citizen count published for ' || (citizens.reference_year - 5)
    end as foreign_citizen_change_5y_missing_reason,
    coalesce(citizens_quality.has_jump, false) as foreign_citizen_change_flag,
    citizens_quality.jump_note as foreign_citizen_quality_note,
    round(citizens.observation_value / nullif(citizens.total_population, 0), 4) as foreign_citizen_share,
    case
        when citizens.geo_code is null then 'no foreign-citizen count'
        when citizens.total_population is null
            then 'no total population (urb_cpop1 DE1001V) collected for ' || cities.geo_code || ' in '
                || citizens.reference_year
        when citizens.total_population = 0 then 'total population is 0 in ' || citizens.reference_year
    end as foreign_citizen_share_missing_reason,

    country_gaps.employment_gap as country_employment_gap,
    country_gaps.employment_period as country_employment_gap_period,
    case
        when country_gaps.employment_gap is null
            then 'no employment_rate gap (citizenship) for ' || cities.country_code || ' in mart_integration_scoreboard'
    end as country_employment_gap_missing_reason,
    country_gaps.unemployment_gap as country_unemployment_gap,
    country_gaps.unemployment_period as country_unemployment_gap_period,
    case
        when country_gaps.unemployment_gap is null
            then 'no unemployment_rate gap (citizenship) for ' || cities.country_code
                || ' in mart_integration_scoreboard'
    end as country_unemployment_gap_missing_reason,

    case when cities.geonames_id is not null then coalesce(engagement.document_count, 0)::bigint end as document_count,
    case when cities.geonames_id is not null then coalesce(engagement.mention_count, 0)::bigint end as mention_count,
    case when cities.geonames_id is not null then coalesce(engagement.event_count, 0)::bigint end as event_count,
    case when cities.geonames_id is not null then coalesce(engagement.hosted_event_count, 0)::bigint end
        as hosted_event_count,
    case when cities.geonames_id is not null then coalesce(engagement.participant_event_count, 0)::bigint end
        as participant_event_count,
    case when cities.geonames_id is not null then coalesce(engagement.speaker_organisation_event_count, 0)::bigint end
        as speaker_organisation_event_count,
    case
        when cities.geonames_id is null
            then 'city not resolved to GeoNames (urban_audit_cities.geonames_missing_reason)'
    end as engagement_missing_reason,
    coalesce(engagement.includes_sample, false) as engagement_includes_sample,

    case when cities.geonames_id is not null then coalesce(city_funding.operations_count, 0) end
        as funding_operations_count,
    city_funding.committed_amount_eur as funding_committed_amount_eur,
    case when city_funding.geonames_id is not null then coalesce(city_funding.integration_amount_eur, 0) end
        as funding_integration_amount_eur,
    round(coalesce(city_funding.integration_amount_eur, 0) / nullif(city_funding.committed_amount_eur, 0), 4)
        as funding_integration_amount_share,
    round(city_funding.integration_operations_count::numeric / nullif(city_funding.operations_count, 0), 4)
        as funding_integration_operation_share,
    city_funding.first_year as funding_first_year,
    city_funding.last_year as funding_last_year,
    coalesce(city_funding.includes_sample, false) as funding_includes_sample,
    case
        when cities.geonames_id is null
            then 'city not resolved to GeoNames (urban_audit_cities.geonames_missing_reason)'
        when city_funding.geonames_id is null then 'no funding operation placed in the city (mart_funding_overview)'
        when city_funding.committed_amount_eur is null then 'no EUR amount on the city''s operations'
        when city_funding.committed_amount_eur = 0 then 'the city''s operations commit 0 EUR'
    end as funding_missing_reason
from cities
left join latest as born
    on cities.geo_code = born.geo_code
    and born.measure = 'foreign_born'
left join quality as born_quality
    on cities.geo_code = born_quality.geo_code
    and born_quality.measure = 'foreign_born'
left join latest as citizens
    on cities.geo_code = citizens.geo_code
    and citizens.measure = 'foreign_citizens'
left join quality as citizens_quality
    on cities.geo_code = citizens_quality.geo_code
    and citizens_quality.measure = 'foreign_citizens'
left join country_gaps on cities.country_code = country_gaps.geo_code
left join engagement on cities.geonames_id = engagement.geonames_id::bigint
left join city_funding on cities.geonames_id = city_funding.geonames_id
