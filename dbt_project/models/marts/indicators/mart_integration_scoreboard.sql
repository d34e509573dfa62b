-- One row per geo × indicator: the gap between the catalogue's migrant and reference groups (both sexes, the
-- indicator's age band), five years earlier, the EU-27 gap of the same period, and a rank that compares like with
-- like. Ranked rows are the indicator's cohort (EU-27 member states for country-level indicators, NUTS 2 regions
-- of member states for regional ones), all in ONE common reference year per indicator: the latest year in which
-- at least `scoreboard_min_members` member states (default 20 of 27), or at least `scoreboard_min_region_share`
-- (default 75 %) of the cohort's regions that ever publish a gap, have a gap. Every other row (non-members,
-- aggregates, members without a gap in the reference year) shows its own latest period, unranked, with the reason.
{%- set min_members = var('scoreboard_min_members', 20) %}
{%- set min_region_share = var('scoreboard_min_region_share', 0.75) %}

with gaps as (
    select * from {{ ref('int_indicator_gaps') }}
    where sex = 'T'
),

geo as (
    select * from {{ ref('dim_geo') }}
),

-- Which cohort a geo belongs to for each indicator (NUTS codes start with their country's Eurostat code).
geo_of_indicator as (
    select distinct
        gaps.indicator_id,
        gaps.indicator_geo_level,
        gaps.geo_code,
        coalesce(geo.geo_level, 'unknown') as geo_level,
        coalesce(geo.is_eu_member, false) as is_eu_member,
        coalesce(country.is_eu_member, false) as in_eu_member_state,
        case
            when
                gaps.indicator_geo_level = 'country' and geo.geo_level = 'country' and geo.is_eu_member
                then 'eu27_member_states'
            when
                gaps.indicator_geo_level = 'nuts2' and geo.geo_level = 'nuts2' and country.is_eu_member
                then 'eu27_nuts2_regions'
        end as ranking_cohort
    from gaps
    left join geo on gaps.geo_code = geo.geo_code
    left join geo as country
        on left(gaps.geo_code, 2) = country.geo_code
        and country.geo_level = 'country'
),

cohort_years as (
    select
        gaps.indicator_id,
        geo_of_indicator.ranking_cohort,
        gaps.time_period,
        count(distinct gaps.geo_code) as geos_with_gap
    from gaps
    inner join geo_of_indicator
        on gaps.indicator_id = geo_of_indicator.indicator_id
        and gaps.geo_code = geo_of_indicator.geo_code
    where
        gaps.gap is not null
        and geo_of_indicator.ranking_cohort is not null
        and gaps.time_period ~ '^[0-9]{4}$'
    group by gaps.indicator_id, geo_of_indicator.ranking_cohort, gaps.time_period
),

cohort_sizes as (
    select
        indicator_id,
        ranking_cohort,
        count(distinct geo_code) as geos_in_cohort
    from geo_of_indicator
    where ranking_cohort is not null
    group by indicator_id, ranking_cohort
),

reference_years as (
    select
        cohort_years.indicator_id,
        cohort_years.ranking_cohort,
        max(cohort_years.time_period) as reference_year
    from cohort_years
    inner join cohort_sizes
        on cohort_years.indicator_id = cohort_sizes.indicator_id
        and cohort_years.ranking_cohort = cohort_sizes.ranking_cohort
    where
        (cohort_years.ranking_cohort = 'eu27_member_states' and cohort_years.geos_with_gap >= {{ min_members }})
        or (
            cohort_years.ranking_cohort = 'eu27_nuts2_regions'
            and cohort_years.geos_with_gap >= ceil({{ min_region_share }} * cohort_sizes.geos_in_cohort)
        )
    group by cohort_years.indicator_id, cohort_years.ranking_cohort
),

latest as (
    select
        indicator_id,
        geo_code,
        max(time_period) as latest_period
    from gaps
    where gap is not null
    group by indicator_id, geo_code
),

-- The period each row shows: the reference year for cohort members that have a gap then, else their own latest.
chosen as (
    select
        latest.indicator_id,
        latest.geo_code,
        latest.latest_period,
        geo_of_indicator.indicator_geo_level,
        geo_of_indicator.geo_level,
        geo_of_indicator.is_eu_member,
        geo_of_indicator.in_eu_member_state,
        geo_of_indicator.ranking_cohort,
        reference_years.reference_year,
        coalesce(in_reference_year.geo_code is not null, false) as is_ranked,
        coalesce(in_reference_year.time_period, latest.latest_period) as period_used
    from latest
    inner join geo_of_indicator
        on latest.indicator_id = geo_of_indicator.indicator_id
        and latest.geo_code = geo_of_indicator.geo_code
    left join reference_years
        on latest.indicator_id = reference_years.indicator_id
        and geo_of_indicator.ranking_cohort = reference_years.ranking_cohort
    left join gaps as in_reference_year
        on latest.indicator_id = in_reference_year.indicator_id
        and latest.geo_code = in_reference_year.geo_code
        and reference_years.reference_year = in_reference_year.time_period
        and in_reference_year.gap is not null
),

current_gap as (
    select
        gaps.*,
        chosen.latest_period,
        chosen.geo_level,
        chosen.is_eu_member,
        chosen.in_eu_member_state,
        chosen.ranking_cohort,
        chosen.reference_year,
        chosen.is_ranked
    from gaps
    inner join chosen
        on gaps.indicator_id = chosen.indicator_id
        and gaps.geo_code = chosen.geo_code
        and gaps.time_period = chosen.period_used
),

with_history as (
    select
        current_gap.*,
        earlier.time_period as earlier_period,
        earlier.gap as gap_5y_earlier,
        eu.gap as eu27_gap
    from current_gap
    left join gaps as earlier
        on current_gap.indicator_id = earlier.indicator_id
        and current_gap.geo_code = earlier.geo_code
        and current_gap.age_group = earlier.age_group
        and current_gap.time_period ~ '^[0-9]{4}$'
        and earlier.time_period = (current_gap.time_period::int - 5)::text
    left join gaps as eu
        on current_gap.indicator_id = eu.indicator_id
        and eu.geo_code = 'EU27_2020'
        and current_gap.age_group = eu.age_group
        and current_gap.time_period = eu.time_period
),

ranks as (
    select
        indicator_id,
        geo_code,
        rank() over (
            partition by indicator_id
            order by case when higher_is_better then gap else -gap end desc
        ) as rank_among_countries,
        count(*) over (partition by indicator_id) as countries_ranked
    from current_gap
    where is_ranked
)

select
    with_history.geo_code,
    with_history.indicator_id,
    with_history.indicator_group,
    with_history.comparison_family,
    with_history.geo_level,
    with_history.indicator_geo_level,
    with_history.time_period as period_used,
    with_history.latest_period,
    with_history.reference_year,
    with_history.age_group,
    with_history.migrant_group,
    with_history.reference_group,
    with_history.migrant_value,
    with_history.reference_value,
    with_history.gap_method,
    with_history.gap,
    with_history.migrant_flags,
    with_history.reference_flags,
    with_history.earlier_period as gap_5y_earlier_period,
    with_history.gap_5y_earlier,
    round((with_history.gap - with_history.gap_5y_earlier)::numeric, 4)::double precision as gap_change_5y,
    case
        when with_history.gap_5y_earlier is null then 'no gap published five years before ' || with_history.time_period
    end as gap_5y_missing_reason,
    with_history.eu27_gap,
    case when with_history.eu27_gap is null then 'no EU-27 gap for ' || with_history.time_period end
        as eu27_gap_missing_reason,
    with_history.ranking_cohort,
    with_history.is_ranked,
    ranks.rank_among_countries,
    ranks.countries_ranked,
    case
        when with_history.is_ranked then null
        when with_history.geo_level in ('eu_aggregate', 'aggregate') then 'aggregate, not a single country or region'
        when with_history.geo_level = 'unknown' then 'geo code unknown to dim_geo'
        when with_history.indicator_geo_level not in ('country', 'nuts2')
            then 'indicator published at ' || coalesce(with_history.indicator_geo_level, 'an unknown') || ' level'
        when with_history.indicator_geo_level = 'country' and with_history.geo_level <> 'country'
            then with_history.geo_level || ' row of a country-level indicator'
        when with_history.indicator_geo_level = 'country' and not with_history.is_eu_member
            then 'not an EU-27 member state'
        when with_history.indicator_geo_level = 'nuts2' and with_history.geo_level <> 'nuts2'
            then with_history.geo_level || ' row of a NUTS 2 indicator (only regions are ranked)'
        when with_history.indicator_geo_level = 'nuts2' and not with_history.in_eu_member_state
            then 'region outside the EU-27'
        when with_history.reference_year is null
            then 'no common reference year: too few of the cohort have a gap in any one year'
        else 'no gap in the reference year ' || with_history.reference_year
    end as rank_missing_reason
from with_history
left join ranks
    on with_history.indicator_id = ranks.indicator_id
    and with_history.geo_code = ranks.geo_code
