import type { FastifyRequest } from 'fastify';
import type { Db } from '../store/database.ts';
import { getAction, type StoredAction } from '../store/actions.ts';
import { findPipelineByPath, findProjectByPath } from '../store/paths.ts';
import { getPipeline, toPipeline, type Pipeline } from '../store/pipelines.ts';
import { getProject } from '../store/projects.ts';
import type { ProjectRow, WorkspaceRow } from '../store/schema.ts';
import { getWorkspace } from '../store/workspaces.ts';
import { assertWorkspaceAllowed } from './auth.ts';
import { badRequest, notFound } from './errors.ts';

/** Path parameters shared by the nested resource routes. */
export interface ResourceParams {
  workspace: string;
  project_name?: string;
  pipeline_id?: string;
  action_id?: string;
}

export async function loadWorkspace(db: Db, request: FastifyRequest, domain: string): Promise<WorkspaceRow> {
  assertWorkspaceAllowed(request, domain);
  const ws = await getWorkspace(db, domain);
  if (!ws) throw notFound(`workspace "${domain}" not found`);
  return ws;
}

export async function loadProject(
  db: Db,
  request: FastifyRequest,
  domain: string,
  name: string,
): Promise<{ ws: WorkspaceRow; project: ProjectRow }> {
  assertWorkspaceAllowed(request, domain);
  const found = await findProjectByPath(db, domain, name);
  if (found) return found;
  // Missing: the lookups level by level say which.
  const ws = await loadWorkspace(db, request, domain);
  const project = await getProject(db, ws.id, name);
  if (!project) throw notFound(`project "${name}" not found in workspace "${domain}"`);
  return { ws, project };
}

/** Parses a numeric id from the path; anything else is a 404 since no such object can exist. */
export function numericId(value: string | undefined, what: string): number {
  if (value === undefined || !/^[1-9][0-9]{0,15}$/.test(value))
    throw notFound(`${what} "${value ?? ''}" not found`);
  return Number(value);
}

export async function loadPipeline(
  db: Db,
  request: FastifyRequest,
  p: { workspace: string; project_name: string; pipeline_id: string },
): Promise<{ ws: WorkspaceRow; project: ProjectRow; pipeline: Pipeline }> {
  assertWorkspaceAllowed(request, p.workspace);
  if (/^[1-9][0-9]{0,15}$/.test(p.pipeline_id)) {
    const found = await findPipelineByPath(db, p.workspace, p.project_name, Number(p.pipeline_id));
    if (found) return { ws: found.ws, project: found.project, pipeline: toPipeline(found.pipeline) };
  }
  // Missing: the lookups level by level say which.
  const { ws, project } = await loadProject(db, request, p.workspace, p.project_name);
  const id = numericId(p.pipeline_id, 'pipeline');
  const pipeline = await getPipeline(db, project.id, id);
  if (!pipeline) throw notFound(`pipeline ${id} not found in project "${project.name}"`);
  return { ws, project, pipeline };
}

export async function loadAction(
  db: Db,
  request: FastifyRequest,
  p: { workspace: string; project_name: string; pipeline_id: string; action_id: string },
): Promise<{ ws: WorkspaceRow; project: ProjectRow; pipeline: Pipeline; action: StoredAction }> {
  const found = await loadPipeline(db, request, p);
  const id = numericId(p.action_id, 'action');
  const action = await getAction(db, found.pipeline.id, id);
  if (!action) throw notFound(`action ${id} not found in pipeline ${found.pipeline.id}`);
  return { ...found, action };
}

export interface PageRequest {
  page: number;
  perPage: number;
  limit: number;
  offset: number;
}

/** Buddy paging: `page` is 1-based, `per_page` defaults to 20 (at most 100). */
export function pageOf(query: { page?: number; per_page?: number }): PageRequest {
  const page = query.page ?? 1;
  const perPage = query.per_page ?? 20;
  if (page < 1) throw badRequest('page must be 1 or more');
  if (perPage < 1 || perPage > 100) throw badRequest('per_page must be between 1 and 100');
  const offset = (page - 1) * perPage;
  // A page like 1e300 passes as an integer but is no row offset the database can bind.
  if (!Number.isSafeInteger(offset)) throw badRequest('page is too large');
  return { page, perPage, limit: perPage, offset };
}

/** The id of the project a list is filtered by (`?project_name=`), or undefined for no filter. */
export async function projectFilter(
  db: Db,
  ws: WorkspaceRow,
  projectName: string | undefined,
): Promise<number | undefined> {
  if (projectName === undefined) return undefined;
  const project = await getProject(db, ws.id, projectName);
  if (!project) throw notFound(`project "${projectName}" not found`);
  return project.id;
}
