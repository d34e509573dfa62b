-- Funded operations normalised: the fund family and programming period (from the operational programme's
-- name when it states one, e.g. "(2014-2020)", else the period containing the operation's year), the EUR
-- amount at the ECB annual average rate of the operation's year (NULL with a reason where there is none),
-- the integration flag (from the fund, else the keyword list) and the Eurostat geo code.
with operations as (
    select * from {{ ref('stg_funding__operations') }}
),

aliases as (
    select * from {{ ref('funding_fund_aliases') }}
),

programmes as (
    select * from {{ ref('funding_programmes') }}
),

periods as (
    select
        programming_period,
        min(period_start_year) as period_start_year,
        max(period_end_year) as period_end_year
    from programmes
    group by programming_period
),

rates as (
    select * from {{ ref('currency_reference_rates') }}
),

keywords as (
    select * from {{ ref('integration_keywords') }}
),

countries as (
    select * from {{ ref('int_geo_countries_by_iso_alpha2') }}
),

dated as (
    select
        operations.*,
        aliases.fund_code,
        extract(year from coalesce(operations.operation_start_date, operations.operation_end_date))::int
            as operation_year,
        substring(operations.operational_programme from '(20[0-9]{2}\s*[-–]\s*20[0-9]{2})') as stated_period
    from operations
    left join aliases on operations.fund_published = aliases.published_fund
),

with_period as (
    select
        dated.*,
        coalesce(stated.programming_period, by_year.programming_period) as programming_period
    from dated
    left join periods as stated
        on regexp_replace(dated.stated_period, '\s*[-–]\s*', '-') = stated.programming_period
    left join periods as by_year
        on dated.operation_year between by_year.period_start_year and by_year.period_end_year
),

with_programme as (
    select
        with_period.*,
        programmes.programme_id,
        coalesce(programmes.concerns_integration, false) as fund_concerns_integration,
        rates.units_per_eur
    from with_period
    left join programmes
        on with_period.fund_code = programmes.fund_code
        and with_period.programming_period = programmes.programming_period
    left join rates
        on with_period.currency_code = rates.currency_code
        and with_period.operation_year = rates.rate_year
),

matched_keywords as (
    select
        with_programme.operation_id,
        min(keywords.keyword_id) as integration_keyword
    from with_programme
    inner join keywords
        on lower(concat_ws(
            ' ', with_programme.operation_title, with_programme.operation_summary,
            with_programme.operation_theme
        )) ~ keywords.keyword_pattern
    group by with_programme.operation_id
)

select
    with_programme.operation_id,
    with_programme.source_id,
    with_programme.load_id,
    with_programme.beneficiary_name,
    with_programme.operation_title,
    with_programme.operation_summary,
    with_programme.operation_theme,
    with_programme.operation_start_date,
    with_programme.operation_end_date,
    with_programme.operation_year,
    with_programme.amount_original,
    with_programme.currency_code,
    case
        when with_programme.currency_code = 'EUR' then with_programme.amount_original
        else round(with_programme.amount_original / with_programme.units_per_eur, 2)
    end as amount_eur,
    case
        when with_programme.currency_code = 'EUR' then null
        when with_programme.amount_original is null then 'no amount published'
        when with_programme.operation_year is null
            then 'no operation date to choose a ' || with_programme.currency_code || ' reference rate'
        when with_programme.units_per_eur is null
            then 'no ' || with_programme.currency_code || ' reference rate for ' || with_programme.operation_year
                || ' in currency_reference_rates'
    end as amount_eur_missing_reason,
    with_programme.units_per_eur as eur_rate_units_per_eur,
    with_programme.cofinancing_rate_pct,
    with_programme.fund_published,
    with_programme.fund_code,
    with_programme.programming_period,
    with_programme.programme_id,
    with_programme.operational_programme,
    with_programme.fund_concerns_integration or matched_keywords.integration_keyword is not null
        as concerns_integration,
    case
        when with_programme.fund_concerns_integration then 'fund'
        when matched_keywords.integration_keyword is not null then 'keyword'
    end as integration_basis,
    matched_keywords.integration_keyword,
    with_programme.location_code,
    with_programme.location_name,
    with_programme.city_name,
    with_programme.geonames_id,
    with_programme.country_code,
    countries.geo_code
from with_programme
left join matched_keywords on with_programme.operation_id = matched_keywords.operation_id
left join countries on with_programme.country_code = countries.iso_alpha2
