/** A link to an organization by its name (breadcrumbs): "Organization" only until the name loads. */
import { useQuery } from 'urql';
import { Link } from '../../app/router';
import { OrganizationNameDocument } from '../../graphql/generated/graphql';

export function OrganizationLink({ organizationId }: { organizationId: string }) {
  const [result] = useQuery({ query: OrganizationNameDocument, variables: { id: organizationId } });
  return <Link to={`/organizations/${organizationId}`}>{result.data?.organization.name ?? 'Organization'}</Link>;
}
