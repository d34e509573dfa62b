-- One row per catalogue indicator × geo × period × group × sex × age; `is_sample` when its registry entry reads a
-- file written for the project (none of the Eurostat entries does: their files are real).
--
-- Incremental, keyed by source and batch: a run rebuilds only the sources whose rows changed (macro
-- indicator_sources_to_rebuild: a new load_id in raw, a changed catalogue entry of their dataset, a changed
-- `is_sample`, a source gone from raw), with the sources competing for the same cells, and leaves every other row
-- as it is (same xmin, same `dbt_built_at`). In ONE transaction (dbt's incremental materialization): the pre-hook
-- deletes the rows of those sources (also of sources that now yield no row or vanished from raw), then dbt's
-- delete+insert on `source_id` inserts their rows as built now. A BI reader sees the mart as before or as after the
-- run, never in between. The first build and `dbt build --full-refresh` build the whole table under a temporary
-- name and swap it in, as for the other marts.
{%- set mart_columns = [
    'indicator_observation_id', 'indicator_id', 'geo_code', 'time_period', 'population_group', 'sex', 'age_group',
    'observation_value', 'observation_flags', 'unit', 'dataset_code', 'dataset_updated_at', 'source_id', 'load_id',
    'is_sample', 'catalogue_checksum', 'dbt_built_at'] %}
-- depends_on: {{ ref('stg_eurostat__observations') }}, {{ ref('indicator_catalogue') }},
-- {{ source('eurostat', 'eurostat_observation') }} (read by the macros)
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='source_id',
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['source_id']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where source_id in ("
        ~ "{{ indicator_sources_to_rebuild(this, " ~ mart_columns ~ ") }}){% endif %}"
) }}

with cells as (
    select * from {{ ref('int_indicator_cells_matched') }}
    {% if is_incremental() -%}
        -- the sources whose rows the pre-hook deleted (those of indicator_sources_to_rebuild), found by index probes
        -- and computed once (an array) before the cells are read and ranked
        where source_id = any(array({{ indicator_sources_missing_from(this) }}))
    {%- endif %}
),

registry_entries as (
    select * from {{ ref('stg_audit__registry_entries') }}
),

newest_vintage as (
    select
        *,
        {{ indicator_newest_vintage_rank() }} as vintage_rank
    from cells
),

final as (
    select
        md5(concat_ws(
            '|', newest_vintage.indicator_id, newest_vintage.geo_code, newest_vintage.time_period,
            newest_vintage.population_group, newest_vintage.sex, newest_vintage.age_group
        )) as indicator_observation_id,
        newest_vintage.indicator_id,
        newest_vintage.geo_code,
        newest_vintage.time_period,
        newest_vintage.population_group,
        newest_vintage.sex,
        newest_vintage.age_group,
        newest_vintage.observation_value,
        newest_vintage.observation_flags,
        newest_vintage.unit,
        newest_vintage.dataset_code,
        newest_vintage.dataset_updated_at,
        newest_vintage.source_id,
        newest_vintage.load_id,
        registry_entries.is_sample,
        newest_vintage.catalogue_checksum,
        '{{ run_started_at }}'::timestamptz as dbt_built_at
    from newest_vintage
    left join registry_entries on newest_vintage.source_id = registry_entries.source_id
    where newest_vintage.vintage_rank = 1
)

select * from final
