import { createMemoryHistory } from 'vue-router'
import { describe, expect, it } from 'vitest'
import { navSections } from '@/components/nav'
import { makeRouter, routes } from '@/router'

describe('navigation', () => {
  const router = makeRouter(createMemoryHistory())

  it('links only to pages that exist, under the route name it claims', () => {
    for (const role of ['customer', 'reseller', 'admin'] as const) {
      for (const s of navSections(role)) {
        for (const l of s.links) {
          const r = router.resolve(l.to)
          expect(r.name, `${role}: ${l.to}`).toBe(l.name)
        }
      }
    }
  })

  it('shows the reseller section to resellers and the admin section to admins only', () => {
    const titles = (role: 'customer' | 'reseller' | 'admin') => navSections(role).map((s) => s.title)
    expect(titles('customer')).not.toContain('nav.reseller')
    expect(titles('customer')).not.toContain('nav.admin')
    expect(titles('reseller')).toContain('nav.reseller')
    expect(titles('reseller')).not.toContain('nav.admin')
    expect(titles('admin')).toContain('nav.admin')
    expect(titles('admin')).not.toContain('nav.reseller')
  })

  it('marks reseller and admin pages so the guard keeps others out', () => {
    for (const r of routes) {
      if (r.path.startsWith('/reseller')) expect(r.meta?.reseller, r.path).toBe(true)
      if (r.path.startsWith('/admin')) expect(r.meta?.admin, r.path).toBe(true)
    }
  })

  it('gives every route a unique name and a translated title', () => {
    const names = routes.map((r) => String(r.name))
    expect(new Set(names).size).toBe(names.length)
    for (const r of routes) expect(r.meta?.title, r.path).toMatch(/^[a-zA-Z]+\.[a-zA-Z.]+$/)
  })
})
